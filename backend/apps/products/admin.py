from django.contrib import admin  # noqa: F401  (admin classes are registered in later commits)
