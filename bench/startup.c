// SPDX-License-Identifier: MIT
/* startup.c - bench workload: start-up cost. An empty main; prints nothing. */
int main(void)
{
    return 0;
}
