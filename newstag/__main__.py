from newstag.cli import main

main()
