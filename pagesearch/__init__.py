"""pagesearch: the command line and the embedded local stack (not shipped to Lambda)."""
