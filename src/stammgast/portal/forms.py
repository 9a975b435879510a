"""Portal forms of the shell."""
