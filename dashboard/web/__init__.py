"""The page: layout, view state, input checks, callbacks, figure builders and the panel registry."""
