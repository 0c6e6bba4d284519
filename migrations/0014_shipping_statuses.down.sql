-- PostgreSQL cannot drop an enum value; once 0015 is down no row uses them.
SELECT 1;
