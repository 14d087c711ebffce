"""Framework-free core of Trial Check: questions, derived facts, the eligibility engine.

Nothing in this package imports Flask, SQLAlchemy or WTForms, so it can be tested and reasoned
about on its own. Adapters elsewhere turn forms and database rows into these plain objects.
"""
