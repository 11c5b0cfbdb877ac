"""Text loading, tokenisers, vocabularies and tasks. Pure Python + NumPy; never imports Qt."""
