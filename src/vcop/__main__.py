from vcop.cli import main

main()
