from autoliq.cli.main import main

main()
