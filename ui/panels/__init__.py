"""One module per dock. Every panel is a QDockWidget with objectName "dock.<name>"."""
