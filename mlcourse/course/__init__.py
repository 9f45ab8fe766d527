"""The course layer: what turns the package into a course.

``notebooks`` builds and hands out the student notebooks, ``checks`` (one module per day)
and ``checking`` judge a student's answers, ``solutions`` shows them, ``grading``,
``gradekernel`` and ``sandbox`` grade a class in isolated kernels, ``magics`` gives
``%spark`` and friends, and ``demo`` is the main job of the README."""
