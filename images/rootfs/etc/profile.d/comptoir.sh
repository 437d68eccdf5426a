# Shows the technician what is left to do each time the console logs in.
[ -r /run/comptoir/todo.txt ] && cat /run/comptoir/todo.txt
