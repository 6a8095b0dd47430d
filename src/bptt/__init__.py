"""bptt: recurrent networks trained with explicit, hand-derived Backpropagation Through Time."""
__version__ = "0.1.0"
