from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "stammgast.core"
    label = "core"
