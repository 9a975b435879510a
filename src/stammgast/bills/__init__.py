"""Bills posted by tills and the web shop, with the customer as they were at that moment."""
