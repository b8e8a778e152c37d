"""Exercise sheets for a class (SPEC §10): randomized variants, answer keys, and quizzes for Moodle and Canvas."""
