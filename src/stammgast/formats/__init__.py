"""The portal's date and number formats where Django's differ from what users expect."""
