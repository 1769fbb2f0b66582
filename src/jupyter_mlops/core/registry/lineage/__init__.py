"""registry/lineage"""
