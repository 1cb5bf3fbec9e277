"""The interactive replay app (Textual): step through a stored conversation, search it, fork it. Only
`button replay` on a terminal imports it, so every other command starts without Textual."""
