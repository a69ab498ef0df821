"""Op rules of the segment route, one module per op family.

Importing this package registers every rule in :data:`RULES`. Adding an op is one
``@rule("OpType")`` entry in the module of its family.
"""

from tftrt_kit.segment.rules import array, math_ops, misc, nn  # noqa: F401  (registers the rules)
from tftrt_kit.segment.rules.registry import PRECISION_ONLY, RULES, Validator, output_dtypes, rule

__all__ = ["PRECISION_ONLY", "RULES", "Validator", "output_dtypes", "rule"]
