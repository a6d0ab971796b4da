"""The core: settings, the Application builder, the command line, texts and the services."""
