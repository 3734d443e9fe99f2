"""musebench.evaluate"""
