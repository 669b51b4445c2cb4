from django.apps import AppConfig


class OmnisocialConfig(AppConfig):
    name = "omnisocial"
    verbose_name = "Workspaces and posts"
