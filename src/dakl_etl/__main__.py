from dakl_etl.cli import main

main()
