"""musebench.unlearn"""
