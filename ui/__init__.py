"""The desktop application's screens: main window, docks, dialogs, the engine-to-Qt bridge, workers."""
