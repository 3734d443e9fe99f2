"""Gradient unlearning methods, one module per family: its config class (an ``UnlearnConfig`` subclass with
the family's own fields and checks) and its trainer (an ``UnlearnTrainer`` subclass that computes the forget
term with a pure loss of ``unlearn/losses.py``)."""
