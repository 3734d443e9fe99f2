"""musebench.experiment"""
