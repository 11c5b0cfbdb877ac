"""Icon and README screenshots, installed as the package `rnnviz.assets`."""
