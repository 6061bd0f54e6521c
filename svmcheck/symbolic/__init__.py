"""Z3 on the very steps the explorer runs: symbolic execution, BMC, induction, config search.

values.py  symbolic ints/bools/sequences the model code runs on
paths.py   every feasible path of a step, by re-execution
layout.py  the state's type (inferred from states), its Z3 variables, encode/decode
encode.py  transition relation and property formulas of a model, derived by running them
bmc.py     bounded model checking, cross-checked by concrete replay
prove.py   inductive invariant checking (Houdini), counterexamples to induction
search.py  configuration search over free parameters
"""
