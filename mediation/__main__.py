from mediation.cli import main

main()
