"""Settings split as in cookiecutter-django: ``base`` holds everything, ``dev``/``test``/``prod`` adjust it.

Every deploy-specific value comes from the environment (see ``docs/operations.md``).
"""
