"""Team policies: JSON Schema (2020-12) documents with AME's quantity and duration keywords,
checked on the resolved view of a project by the one engine (codes AME5xx).

`loading` finds and reads policy files, `keywords` extends the validator, `check` evaluates
and reports at the line that breaks a rule, `rules` answers the editor (hover, completion),
`gate` refuses a flow that a policy forbids.
"""

from ame_core.policy.loading import Policy, PolicyProblem, PolicySet, PolicySource

__all__ = ["Policy", "PolicyProblem", "PolicySet", "PolicySource"]
