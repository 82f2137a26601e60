from autoliq.command import main

main()
