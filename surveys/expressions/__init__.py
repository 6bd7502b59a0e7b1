"""XLSForm's expression language, the subset Chorus supports, parsed and evaluated safely.

Supported: `${q}` references, `.` (the answer being checked), string and number
literals, `= != < <= > >=`, `+ - * div mod`, `and`, `or`, and the functions
`not`, `selected`, `count-selected`, `regex`, `string-length`, `contains`,
`number`, `true`, `false`. Nothing is ever passed to eval or exec.
"""

from surveys.expressions.evaluator import evaluate, truthy
from surveys.expressions.nodes import Expression
from surveys.expressions.parser import parse

__all__ = ["Expression", "evaluate", "parse", "truthy"]
