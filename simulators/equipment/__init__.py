"""Equipment models: the true physical state of each kind of machine, one interval at a time.

The registry of models by kind lives in simulators/equipment/registry.py.
"""
