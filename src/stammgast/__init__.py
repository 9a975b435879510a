"""stammgast: the central customer base for hospitality and retail businesses."""
