"""neur2ro"""
