"""musebench.models"""
