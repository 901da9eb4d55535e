"""cpgym: reinforcement-learning environments and agents for combinatorial problems, built on CP."""

__version__ = "0.1.0"
