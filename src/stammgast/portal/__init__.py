"""The staff portal's shell: login, layout, navigation, dashboard."""
