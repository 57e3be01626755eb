"""The desktop service: settings, watcher, tray, notifications, single instance, autostart."""
