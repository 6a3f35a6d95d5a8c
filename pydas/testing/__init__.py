"""An embedded Midas Server 3.4.2 speaking the JSON web API over real HTTP."""
