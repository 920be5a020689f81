DROP INDEX users_unconfirmed_by_age;
