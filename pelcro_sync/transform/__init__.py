"""Records to typed columns (pandas), and schema drift."""
