"""jobs/parameters"""
