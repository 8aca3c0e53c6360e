"""Server-rendered pages for people (sign-in, the desk): templates, language, times."""
