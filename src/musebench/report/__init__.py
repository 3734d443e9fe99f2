"""musebench.report"""
