"""Markets: exchange sessions, holidays, early closes and local times from exchange_calendars."""
