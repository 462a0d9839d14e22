"""Read models of the desktop: the queries each panel shows, as plain pandas, no Qt.

Each panel reads its data through one function here, so the queries run headless (tests, the CLI,
a script) and a panel only turns frames into Qt models. Commands the panels send (accept, decide,
work a break) pass through here to the engine services with the signed-in desk user.
"""
